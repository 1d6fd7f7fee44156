// Package kafkaclient holds what Pulse's two Kafka ends (outputs/kafka and
// inputs/kafka) share about reaching a cluster: seed brokers, TLS, SASL and
// the client's own log. It builds franz-go (kgo) options from them; each
// end adds its producer or consumer options.
package kafkaclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// SASL is a username and password and the mechanism that carries them.
type SASL struct {
	Mechanism string // SASLPlain, SASLScramSHA256 or SASLScramSHA512
	Username  string
	Password  string
}

// Options say how to reach a cluster.
type Options struct {
	Brokers  []string    // seed brokers, host:port; at least one
	TLS      *tls.Config // nil: plaintext
	SASL     *SASL       // nil: no authentication
	ClientID string      // sent to the brokers (their logs and quotas name it); default "pulse"
	Logger   *slog.Logger
	// Component names the end in the client's own log lines ("output" or
	// "input"), beside Name.
	Component, Name string
	// OnTurnedAway, if set, is called for every connection the brokers
	// turn away for the client's TLS or SASL settings, with TurnedAway's
	// reason: the client keeps trying, and without it an end that only
	// waits for records (a consumer) would count nothing.
	OnTurnedAway func(reason string)
}

// ClientOpts returns the kgo options of o: seeds, TLS, SASL, client id and
// a logger that passes the client's warnings and errors to slog at most
// once per 5 seconds per level.
func (o Options) ClientOpts() ([]kgo.Opt, error) {
	if len(o.Brokers) == 0 {
		return nil, errors.New("no brokers")
	}
	for _, b := range o.Brokers {
		if err := CheckBroker(b); err != nil {
			return nil, err
		}
	}
	id := o.ClientID
	if id == "" {
		id = "pulse"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(o.Brokers...), kgo.ClientID(id)}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS.Clone()))
	}
	if o.SASL != nil {
		m, err := o.SASL.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Component != "" {
		log = log.With(o.Component, o.Name)
	}
	opts = append(opts, kgo.WithLogger(newLogger(log)))
	if o.OnTurnedAway != nil {
		opts = append(opts, kgo.WithHooks(connectHook(o.OnTurnedAway)))
	}
	return opts, nil
}

// connectHook passes connections turned away to Options.OnTurnedAway. The
// client calls it after each connection attempt, the dial with its TLS
// handshake and the SASL exchange done (err is the first that failed).
type connectHook func(reason string)

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (h connectHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if r := TurnedAway(err); r != "" {
		h(r)
	}
}

// CheckBroker reports whether b looks like host:port.
func CheckBroker(b string) error {
	i := strings.LastIndexByte(b, ':')
	if b == "" || i <= 0 || i == len(b)-1 || strings.Contains(b, "://") {
		return fmt.Errorf("broker %q: want host:port", b)
	}
	return nil
}

// CheckSASL reports what is wrong with s, naming the field.
func CheckSASL(s SASL) (field string, err error) {
	switch s.Mechanism {
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	default:
		return "mechanism", fmt.Errorf("must be %s, %s or %s, not %q", SASLPlain, SASLScramSHA256, SASLScramSHA512, s.Mechanism)
	}
	if s.Username == "" {
		return "username", errors.New("must be set")
	}
	if s.Password == "" {
		return "password", errors.New("must be set")
	}
	return "", nil
}

func (s *SASL) mechanism() (sasl.Mechanism, error) {
	if _, err := CheckSASL(*s); err != nil {
		return nil, fmt.Errorf("sasl: %w", err)
	}
	switch s.Mechanism {
	case SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism(), nil
	case SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism(), nil
	}
	return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism(), nil
}

// Turned-away reasons: the cluster will not take the client as it is
// configured, which no retry mends (the operator must).
const (
	ReasonTLSCertificate   = "tls_certificate"            // the brokers' certificate does not verify (CA, host name, expiry)
	ReasonTLS              = "tls"                        // another TLS failure: a handshake refused, TLS to a plaintext listener
	ReasonSASLFailed       = "sasl_authentication_failed" // wrong user name or password
	ReasonSASLMechanism    = "unsupported_sasl_mechanism" // the listener does not offer the mechanism
	ReasonSASLIllegalState = "illegal_sasl_state"         // SASL to a listener that takes none, or the reverse
)

// TurnedAway returns the reason err (or an error it wraps, such as the
// last error of a record timeout) says the brokers turned the client away
// for its TLS or SASL settings; "" if it does not.
func TurnedAway(err error) string {
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		header  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return ReasonTLSCertificate
	case errors.As(err, &header), errors.As(err, &alert):
		return ReasonTLS
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return ReasonSASLFailed
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return ReasonSASLMechanism
	case errors.Is(err, kerr.IllegalSaslState):
		return ReasonSASLIllegalState
	}
	return ""
}
