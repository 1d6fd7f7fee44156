// Package kafkajvm runs Apache Kafka brokers (KRaft, combined broker and
// controller) from the jars scripts/kafka-jars.sh caches: finding Java and
// the jars, writing a node's server.properties, formatting its storage and
// the JVM's command line. testenv (its test clusters) and the demo (its
// one-node broker) share it; neither the process supervision nor the
// waiting is here.
package kafkajvm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// LibsDir is where scripts/kafka-jars.sh puts the jars of Kafka version:
// $PULSE_KAFKA_LIBS, else ~/.cache/pulse/kafka-VERSION/libs. The script
// writes LibsDir/.complete last (the pom's sha256): without it the copy is
// partial.
func LibsDir(version string) (string, error) {
	if libs := os.Getenv("PULSE_KAFKA_LIBS"); libs != "" {
		return libs, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the jar cache (set PULSE_KAFKA_LIBS): %w", err)
	}
	return filepath.Join(home, ".cache", "pulse", "kafka-"+version, "libs"), nil
}

// Java returns the java to run a Kafka 4.x broker with: $JAVA_HOME/bin/java,
// else java from PATH, of version 17 or newer.
func Java() (string, error) {
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); isExecutable(p) {
			java = p
		}
	}
	java, err := exec.LookPath(java)
	if err != nil {
		return "", fmt.Errorf("no java (Kafka 4 needs Java 17 or newer: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME): %w", err)
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w\n%s", java, err, out)
	}
	if major := javaMajor(string(out)); major < 17 {
		return "", fmt.Errorf("%s is Java %d: Kafka 4 needs 17 or newer (set JAVA_HOME)", java, major)
	}
	return java, nil
}

// javaMajor reads the major version from java -version's output:
// `openjdk version "17.0.15" ...` is 17, `java version "1.8.0_392"` is 8;
// 0 when there is none.
func javaMajor(out string) int {
	m := regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// jvm is the broker JVM's heap, GC and JIT, as Kafka's own KAFKA_HEAP_OPTS
// and KAFKA_JVM_PERFORMANCE_OPTS would give them, for a broker on a 2-core
// machine it shares: a small heap that starts smaller (RSS ~150-200 MB a
// broker), the serial collector (no concurrent GC threads) and the C1
// compiler alone, which halve the CPU a broker spends getting ready (~3 s
// instead of ~6 s); a local broker moves little data, so C2's faster code
// would not pay for itself. ExitOnOutOfMemoryError: a broker out of heap
// dies at once, its log saying why. -UsePerfData: no hsperfdata in /tmp.
var jvm = []string{
	"-Xmx512m", "-Xms64m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:+ExitOnOutOfMemoryError",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
}

// BrokerArgs is the command line (after java) of the broker whose
// server.properties and log4j2.properties are in dir. PULSE_KAFKA_JVM_OPTS
// (space-separated) replaces the JVM flags.
func BrokerArgs(dir, libs string) []string {
	flags := jvm
	if opts := os.Getenv("PULSE_KAFKA_JVM_OPTS"); opts != "" {
		flags = strings.Fields(opts)
	}
	return append(append([]string{}, flags...),
		// A JVM crash report goes beside the log, not into the working
		// directory.
		"-XX:ErrorFile="+filepath.Join(dir, "hs_err_%p.log"),
		"-Dlog4j2.configurationFile="+filepath.Join(dir, "log4j2.properties"),
		"-cp", filepath.Join(libs, "*"),
		"kafka.Kafka", filepath.Join(dir, "server.properties"))
}

// Format formats the log directory of the node configured in dir for the
// cluster, as kafka-storage.sh format does; extra are more arguments of
// the format command (SCRAM credentials).
func Format(ctx context.Context, java, libs, dir, clusterID string, extra ...string) error {
	cmd := exec.CommandContext(ctx, java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
		"-Dlog4j2.configurationFile="+filepath.Join(dir, "log4j2.properties"),
		"-cp", filepath.Join(libs, "*"),
		"kafka.tools.StorageTool", "format", "-t", clusterID, "-c", filepath.Join(dir, "server.properties"))
	cmd.Args = append(cmd.Args, extra...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("storage format: %w\n%s", err, out)
	}
	return nil
}

// ClusterID is a random cluster id in Kafka's form: 16 bytes, URL-safe
// base64 without padding (what kafka-storage random-uuid prints, without a
// JVM for it). Like Kafka's Uuid.randomUuid it never starts with '-',
// which the storage tool would take for an option (one id in 64 did).
func ClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("cluster id: %w", err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}
