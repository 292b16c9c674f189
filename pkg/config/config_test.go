package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/config"
)

type inner struct {
	Wait time.Duration `env:"WAIT" envDefault:"1s"`
}

type outer struct {
	Slack   time.Duration `env:"TEST_CONFIG_SLACK" envDefault:"4ms"`
	Count   int           `env:"TEST_CONFIG_COUNT" envDefault:"1"`
	Nested  inner         `envPrefix:"TEST_CONFIG_A_"`
	Another inner         `envPrefix:"TEST_CONFIG_B_"`
}

// A value that does not parse is reported under its variable's name, with
// every other problem; a field name two nested fields share keeps env's
// own wording.
func TestLoadNamesTheVariableOfAValueThatDoesNotParse(t *testing.T) {
	t.Setenv("TEST_CONFIG_SLACK", "soon")
	t.Setenv("TEST_CONFIG_COUNT", "many")
	t.Setenv("TEST_CONFIG_A_WAIT", "later")
	var c outer
	err := config.Load(&c)
	if err == nil {
		t.Fatal("loaded")
	}
	msg := err.Error()
	for _, want := range []string{`TEST_CONFIG_SLACK: unable to parse duration: time: invalid duration "soon"`, `TEST_CONFIG_COUNT: strconv.ParseInt: parsing "many"`, `"Wait"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	var c outer
	if err := config.Load(&c); err != nil || c.Slack != 4*time.Millisecond || c.Nested.Wait != time.Second {
		t.Fatalf("%+v, %v", c, err)
	}
}
