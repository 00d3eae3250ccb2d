package survey_test

import (
	"testing"

	"github.com/renraku/renraku/internal/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }
