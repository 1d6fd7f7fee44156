package agent

import (
	"path/filepath"

	"pulse/admin"
	"pulse/config"
	kafkain "pulse/inputs/kafka"
	kafkaout "pulse/outputs/kafka"
	"pulse/pipeline"
	"pulse/protocol"
)

// The kafka output's and input's constructors, beside the others of
// build_outputs.go and build_inputs.go.

// kafkaBuffer is how a kafka output's batches are stored: NDJSON as
// configured (JSON escaping keeps each object on one line), anything else
// pulse-framed, so that every record comes out exactly as it went in,
// newlines and all; uncompressed, for Kafka compresses on the wire and
// compressing for the disk as well would cost the CPU twice.
func kafkaBuffer(enc pipeline.Encoding) (pipeline.Encoding, protocol.Compression) {
	if enc == pipeline.NDJSON {
		return enc, ""
	}
	return pipeline.Pulse, protocol.CompressNone
}

func (a *Agent) kafkaOutput(oc config.Output) (output, func(*admin.OutputStatus), error) {
	tlsConf, err := clientTLS(oc.TLS)
	if err != nil {
		return nil, nil, err
	}
	k, err := kafkaout.New(kafkaout.Options{
		Name:          oc.Name,
		Stream:        protocol.Stream(oc.Stream),
		Brokers:       oc.Kafka.Brokers,
		Topic:         oc.Kafka.Topic,
		DefaultTopic:  oc.Kafka.DefaultTopic,
		Key:           oc.Kafka.Key,
		Acks:          oc.Kafka.Acks,
		Compression:   oc.Compression,
		MaxInFlight:   oc.MaxInFlight,
		Timeout:       oc.Timeout.D(),
		RetryInitial:  oc.RetryInitial.D(),
		RetryMax:      oc.RetryMax.D(),
		TLS:           tlsConf,
		SASL:          oc.Kafka.SASL.Client(),
		ClientID:      "pulse-" + a.cfg.ID,
		DeadLetterDir: filepath.Join(a.cfg.DataDir, "deadletter", oc.Name),
		Logger:        a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func(o *admin.OutputStatus) {
		s := k.Stats()
		o.Batches, o.Events, o.Bytes = s.Batches, s.Records, s.Bytes
		o.Retries, o.Failures, o.DeadLetters = s.Retries, s.Failures, s.DeadRecords
		o.Errors = s.Errors
		if s.DefaultTopic > 0 {
			o.Errors["default_topic"] = s.DefaultTopic
		}
	}
	return k, stats, nil
}

func (a *Agent) kafkaInput(ic config.Input) (input, func() admin.InputStatus, error) {
	tlsConf, err := clientTLS(ic.TLS)
	if err != nil {
		return nil, nil, err
	}
	stream := kafkain.StreamEvents
	if a.cfg.Merge != nil {
		stream = kafkain.StreamFragments
	}
	k, err := kafkain.New(kafkain.Options{
		Name:           ic.Name,
		Brokers:        ic.Kafka.Brokers,
		Topics:         ic.Kafka.Topics,
		Group:          ic.Kafka.Group,
		Format:         ic.Format,
		Stream:         stream,
		StartOffset:    ic.Kafka.StartOffset,
		TLS:            tlsConf,
		SASL:           ic.Kafka.SASL.Client(),
		ClientID:       "pulse-" + a.cfg.ID,
		SessionTimeout: ic.Kafka.SessionTimeout.D(),
		DrainTimeout:   ic.Kafka.DrainTimeout.D(),
		Logger:         a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func() admin.InputStatus {
		s := k.Stats()
		errs := s.Bad
		for reason, n := range map[string]int64{"commit_failed": s.CommitErrors, "fetch_error": s.FetchErrors,
			"revoked_undrained": s.Undrained, "partition_lost": s.Lost} {
			if n > 0 {
				errs[reason] = n
			}
		}
		for reason, n := range s.TurnedAway {
			errs[reason] = n
		}
		return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: s.Records, Bytes: s.Bytes, Errors: errs}
	}
	return k, stats, nil
}
