package serverplugin

import (
	"testing"

	"github.com/courier-rpc/courier/_testutils/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
