package config

import (
	"os"
	"path/filepath"
	"time"

	"pulse/buffer"
	"pulse/fanout"
	"pulse/inputs"
	"pulse/merger"
	"pulse/outputs"
)

// Defaults that are the configuration's own; the others are the defaults
// of the packages that take the values (inputs, outputs, buffer, merger),
// referred to by name below so that each is written once.
const (
	DefaultDataDir         = "./pulse-data"
	DefaultShutdownTimeout = Duration(10 * time.Second)
	DefaultHashBuckets     = 16
	DefaultMetricsWindow   = Duration(10 * time.Second)
	DefaultLateWindows     = 30
	DefaultBatchMaxEvents  = 5000
	DefaultBatchMaxBytes   = 1 * MiB
	DefaultBatchMaxWait    = Duration(200 * time.Millisecond)
	DefaultBufferMaxBytes  = 256 * MiB
)

// SetDefaults fills every unset field with its default.
func (c *Config) SetDefaults() {
	if c.ID == "" {
		c.ID, _ = os.Hostname()
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen, c.Admin.Default = DefaultAdminListen, true
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		if in.Type == InputFile && in.StartAt == "" {
			in.StartAt = StartAtBeginning
		}
		if in.MaxLineBytes == 0 {
			in.MaxLineBytes = inputs.DefaultMaxLineBytes
		}
		if in.Type == InputFile && in.PollInterval == 0 {
			in.PollInterval = Duration(inputs.DefaultPollInterval)
		}
		if in.Type == InputKafka {
			in.kafkaDefaults(c.Merge != nil)
		}
		if in.Type == InputHTTP {
			if in.Format == "" {
				in.Format = FormatPulse
			}
			if in.MaxBodyBytes == 0 {
				in.MaxBodyBytes = inputs.DefaultHTTPMaxBodyBytes
			}
			if in.PushBackAfter == 0 {
				in.PushBackAfter = Duration(inputs.DefaultHTTPPushBackAfter)
			}
		}
	}
	if m := c.Metrics; m != nil {
		if m.Window == 0 {
			m.Window = DefaultMetricsWindow
		}
		if m.LateWindows == 0 {
			m.LateWindows = DefaultLateWindows
		}
	}
	if m := c.Merge; m != nil {
		if m.Interval == 0 {
			m.Interval = Duration(merger.DefaultInterval)
		}
		if m.FinalizeAfter == 0 {
			m.FinalizeAfter = Duration(merger.DefaultFinalizeAfter)
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		if o.Stream == "" {
			o.Stream = StreamEvents
			if c.Merge != nil {
				o.Stream = StreamSnapshots
			}
		}
		if o.Encoding == "" {
			o.Encoding = EncodingLines
		}
		if o.Type == OutputHTTP {
			if o.Timeout == 0 {
				o.Timeout = Duration(outputs.DefaultHTTPTimeout)
			}
			if o.MaxInFlight == 0 {
				o.MaxInFlight = outputs.DefaultHTTPMaxInFlight
			}
			if o.Balance == "" {
				o.Balance = BalanceRoundRobin
			}
			if o.Balance == BalanceHash && o.HashBuckets == 0 {
				o.HashBuckets = DefaultHashBuckets
			}
			if o.RetryInitial == 0 {
				o.RetryInitial = Duration(outputs.DefaultHTTPRetryInitial)
			}
			if o.RetryMax == 0 {
				o.RetryMax = Duration(outputs.DefaultHTTPRetryMax)
			}
		}
		if o.Type == OutputKafka {
			o.kafkaDefaults()
		}
		if o.Type == OutputPostgres {
			o.postgresDefaults()
		}
		if o.Type == OutputFile {
			if o.Path == "" {
				o.Path = filepath.Join(c.DataDir, "out", o.Name)
			}
			if o.MaxFileBytes == 0 {
				o.MaxFileBytes = outputs.DefaultFileMaxBytes
			}
		}
		if o.Batch.MaxEvents == 0 {
			o.Batch.MaxEvents = DefaultBatchMaxEvents
		}
		if o.Batch.MaxBytes == 0 {
			o.Batch.MaxBytes = DefaultBatchMaxBytes
		}
		if o.Batch.MaxWait == 0 {
			o.Batch.MaxWait = DefaultBatchMaxWait
		}
		if o.Buffer.MaxBytes == 0 {
			o.Buffer.MaxBytes = DefaultBufferMaxBytes
		}
		if o.Buffer.WhenFull == "" {
			o.Buffer.WhenFull = WhenFullBlock
		}
		if o.Buffer.Fsync == "" {
			o.Buffer.Fsync = FsyncInterval
		}
		if o.Buffer.FsyncInterval == 0 {
			o.Buffer.FsyncInterval = Duration(buffer.DefaultFsyncInterval)
		}
		if o.Buffer.SpillAfter == 0 {
			o.Buffer.SpillAfter = Duration(fanout.DefaultBehind)
		}
	}
	if c.API != nil {
		c.API.setDefaults() // api.go
	}
}
