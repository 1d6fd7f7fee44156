package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"pulse/kafkajvm"
)

// kafkaRuntime returns the java to run a broker with and the directory of
// the broker's jars. Without either the test is skipped, or fails under
// CI=1 (scripts/test.sh fetches the jars, so a skip there would hide a
// test that never ran), naming the command that provides them.
func kafkaRuntime(t testing.TB) (java, libs string) {
	t.Helper()
	kafkaEnv.once.Do(func() { kafkaEnv.java, kafkaEnv.libs, kafkaEnv.err = findKafkaRuntime() })
	if kafkaEnv.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testenv: kafka: %v (CI is set: run scripts/kafka-jars.sh, which scripts/test.sh does)", kafkaEnv.err)
		}
		t.Skipf("testenv: kafka: %v: run scripts/kafka-jars.sh (CI=1 makes this a failure)", kafkaEnv.err)
	}
	return kafkaEnv.java, kafkaEnv.libs
}

var kafkaEnv struct {
	once       sync.Once
	java, libs string
	err        error
}

// findKafkaRuntime looks for java ($JAVA_HOME/bin/java, else PATH; 17 or
// newer, as Kafka 4.x brokers need) and for a libs directory that
// scripts/kafka-jars.sh completed for the pom in this tree.
func findKafkaRuntime() (java, libs string, err error) {
	pom := filepath.Join(moduleRoot(), "testenv", "kafka", "pom.xml")
	b, err := os.ReadFile(pom)
	if err != nil {
		return "", "", fmt.Errorf("read the broker's jar list: %w", err)
	}
	m := regexp.MustCompile(`<kafka\.version>([^<]+)</kafka\.version>`).FindSubmatch(b)
	if m == nil {
		return "", "", fmt.Errorf("%s names no <kafka.version>", pom)
	}
	version := string(m[1])
	if libs, err = kafkajvm.LibsDir(version); err != nil {
		return "", "", err
	}
	// The marker scripts/kafka-jars.sh writes last holds the pom's sha256:
	// a missing or older one means missing or stale jars.
	sum := sha256.Sum256(b)
	marker, err := os.ReadFile(filepath.Join(libs, ".complete"))
	if err != nil {
		return "", "", fmt.Errorf("the jars of Kafka %s are not in %s", version, libs)
	}
	if strings.TrimSpace(string(marker)) != hex.EncodeToString(sum[:]) {
		return "", "", fmt.Errorf("the jars in %s are not those %s lists", libs, pom)
	}
	if java, err = kafkajvm.Java(); err != nil {
		return "", "", err
	}
	return java, libs, nil
}
