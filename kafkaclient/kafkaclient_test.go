package kafkaclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClientOpts(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string // "" for no error
	}{
		{Options{Brokers: []string{"127.0.0.1:9092"}}, ""},
		{Options{Brokers: []string{"a:1", "b:2"}, TLS: &tls.Config{}, SASL: &SASL{SASLScramSHA512, "u", "p"}}, ""},
		{Options{Brokers: []string{"a:1"}, SASL: &SASL{SASLPlain, "u", "p"}}, ""},
		{Options{Brokers: []string{"a:1"}, SASL: &SASL{SASLScramSHA256, "u", "p"}}, ""},
		{Options{}, "no brokers"},
		{Options{Brokers: []string{"a"}}, `broker "a": want host:port`},
		{Options{Brokers: []string{"kafka://a:1"}}, "want host:port"},
		{Options{Brokers: []string{"a:1"}, SASL: &SASL{"gssapi", "u", "p"}}, "sasl: must be plain"},
		{Options{Brokers: []string{"a:1"}, SASL: &SASL{SASLPlain, "", "p"}}, "sasl: must be set"},
	} {
		opts, err := tt.opts.ClientOpts()
		switch {
		case tt.want == "" && (err != nil || len(opts) == 0):
			t.Errorf("%+v: %v", tt.opts, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: %v, want %q", tt.opts, err, tt.want)
		}
	}
	if f, err := CheckSASL(SASL{SASLPlain, "u", ""}); f != "password" || err == nil {
		t.Errorf("CheckSASL without password: %q, %v", f, err)
	}
}

func TestTurnedAway(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("%w, last err: %w", kgo.ErrRecordTimeout, err) }
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{kgo.ErrRecordTimeout, ""},
		{wrap(kerr.NotEnoughReplicas), ""},
		{wrap(&net.OpError{Op: "dial", Err: errors.New("connection refused")}), ""},
		{wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), ReasonTLSCertificate},
		{wrap(x509.HostnameError{Host: "kafka-1"}), ReasonTLSCertificate},
		{wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), ReasonTLS},
		{wrap(kerr.SaslAuthenticationFailed), ReasonSASLFailed},
		{kerr.UnsupportedSaslMechanism, ReasonSASLMechanism},
		{wrap(kerr.IllegalSaslState), ReasonSASLIllegalState},
	} {
		if got := TurnedAway(tt.err); got != tt.want {
			t.Errorf("TurnedAway(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
