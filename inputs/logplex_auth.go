package inputs

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
)

// basicAuthorized reports whether header is "Basic base64(want)", as
// Logplex sends the credentials of a drain URL (https://user:pass@host/).
// The credentials are compared in constant time.
func basicAuthorized(header, want []byte) bool {
	const scheme = "Basic "
	if len(header) < len(scheme) || !bytes.EqualFold(header[:len(scheme)], []byte(scheme)) {
		return false
	}
	enc := bytes.TrimSpace(header[len(scheme):])
	if len(enc) > base64.StdEncoding.EncodedLen(len(want))+4 {
		return false // too long to be right: do not decode it
	}
	got := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(got, enc)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got[:n], want) == 1
}
