package agent

import (
	"context"

	"pulse/admin"
	"pulse/config"
	"pulse/event"
	kafkain "pulse/inputs/kafka"
	"pulse/merger"
)

// kafkaMerger reports whether cfg is a merger of a Kafka consumer group: a
// merge: section and a kafka input (config allows no other input beside
// it). Such a merger has no buffer nor checkpoint of its own: Kafka is the
// log, and a merger.Group merges straight from it.
func kafkaMerger(cfg *config.Config) bool {
	if cfg.Merge == nil {
		return false
	}
	for _, ic := range cfg.Inputs {
		if ic.Type == config.InputKafka {
			return true
		}
	}
	return false
}

// groupInput runs a merger.Group as the agent's one input: the Group's
// Log is the kafka input, and its snapshots go to the router, as a
// buffered merge stage's do. Stopping the inputs stops it: it leaves the
// group, committing what it holds, before the router stops.
type groupInput struct{ g *merger.Group }

func (gi groupInput) Run(ctx context.Context, _ event.Emit) error { return gi.g.Run(ctx) }

// mergerKafkaInput builds the Group over the kafka input ic, emitting into
// the router, and keeps its counters for Status.
func (a *Agent) mergerKafkaInput(ic config.Input) (input, error) {
	tlsCfg, err := clientTLS(ic.TLS)
	if err != nil {
		return nil, err
	}
	log, err := kafkain.NewMergerLog(kafkain.Options{
		Name:           ic.Name,
		Brokers:        ic.Kafka.Brokers,
		Topics:         ic.Kafka.Topics,
		Group:          ic.Kafka.Group,
		StartOffset:    ic.Kafka.StartOffset,
		TLS:            tlsCfg,
		SASL:           ic.Kafka.SASL.Client(),
		SessionTimeout: ic.Kafka.SessionTimeout.D(),
		Logger:         a.log,
	})
	if err != nil {
		return nil, err
	}
	g, err := merger.NewGroup(merger.GroupOptions{
		Log:           log,
		Interval:      a.cfg.Merge.Interval.D(),
		FinalizeAfter: a.cfg.Merge.FinalizeAfter.D(),
		Emit:          a.router.Emit,
		Logger:        a.log,
	})
	if err != nil {
		return nil, err
	}
	a.group = g
	a.inStats = append(a.inStats, func() admin.InputStatus {
		s := g.Stats()
		return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: int64(s.Records),
			Errors: map[string]int64{"bad_record": int64(s.BadRecords), "fetch": log.FetchErrors(), "commit": int64(s.CommitErrors)}}
	})
	return groupInput{g}, nil
}

// groupStatus is the Group's part of /status.
func groupStatus(g *merger.Group) *admin.MergerStatus {
	s := g.Stats()
	return &admin.MergerStatus{FragmentsIn: int64(s.Records), Duplicates: int64(s.Duplicates), TooLate: int64(s.TooLate),
		SnapshotsOut: int64(s.Snapshots), Keys: s.Keys}
}
