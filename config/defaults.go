package config

import (
	"os"
	"path/filepath"
	"time"
)

// SetDefaults fills every unset field with its default.
func (c *Config) SetDefaults() {
	if c.ID == "" {
		c.ID, _ = os.Hostname()
	}
	if c.DataDir == "" {
		c.DataDir = "./pulse-data"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(10 * time.Second)
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
			in.StartAt = "beginning"
		}
		if in.MaxLineBytes == 0 {
			in.MaxLineBytes = 64 * KiB
		}
		if in.Type == InputFile && in.PollInterval == 0 {
			in.PollInterval = Duration(200 * time.Millisecond)
		}
		if in.Type == InputHTTP {
			if in.Format == "" {
				in.Format = FormatPulse
			}
			if in.MaxBodyBytes == 0 {
				in.MaxBodyBytes = 64 * MiB
			}
			if in.PushBackAfter == 0 {
				in.PushBackAfter = Duration(2 * time.Second)
			}
		}
	}
	if m := c.Metrics; m != nil {
		if m.Window == 0 {
			m.Window = Duration(10 * time.Second)
		}
		if m.LateWindows == 0 {
			m.LateWindows = 30
		}
	}
	if m := c.Merge; m != nil {
		if m.Interval == 0 {
			m.Interval = Duration(10 * time.Second)
		}
		if m.FinalizeAfter == 0 {
			m.FinalizeAfter = Duration(6 * time.Minute)
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
				o.Timeout = Duration(10 * time.Second)
			}
			if o.MaxInFlight == 0 {
				o.MaxInFlight = 2
			}
			if o.Balance == "" {
				o.Balance = BalanceRoundRobin
			}
			if o.Balance == BalanceHash && o.HashBuckets == 0 {
				o.HashBuckets = 16
			}
			if o.RetryInitial == 0 {
				o.RetryInitial = Duration(100 * time.Millisecond)
			}
			if o.RetryMax == 0 {
				o.RetryMax = Duration(30 * time.Second)
			}
		}
		if o.Type == OutputFile {
			if o.Path == "" {
				o.Path = filepath.Join(c.DataDir, "out", o.Name)
			}
			if o.MaxFileBytes == 0 {
				o.MaxFileBytes = 64 * MiB
			}
		}
		if o.Batch.MaxEvents == 0 {
			o.Batch.MaxEvents = 5000
		}
		if o.Batch.MaxBytes == 0 {
			o.Batch.MaxBytes = 1 * MiB
		}
		if o.Batch.MaxWait == 0 {
			o.Batch.MaxWait = Duration(200 * time.Millisecond)
		}
		if o.Buffer.MaxBytes == 0 {
			o.Buffer.MaxBytes = 256 * MiB
		}
		if o.Buffer.WhenFull == "" {
			o.Buffer.WhenFull = WhenFullBlock
		}
		if o.Buffer.Fsync == "" {
			o.Buffer.Fsync = FsyncInterval
		}
		if o.Buffer.FsyncInterval == 0 {
			o.Buffer.FsyncInterval = Duration(500 * time.Millisecond)
		}
	}
}
