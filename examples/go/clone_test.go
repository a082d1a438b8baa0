// Package example shows a Go suite getting the isolation the pytest plugin gives: each test asks
// `harness clone` for a database of its own, cloned from the migrated template of the running
// `harness up`, and `harness drop`s it when it ends.
package example

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lib/pq"
)

// A bcrypt-shaped hash: auth.users checks the shape, this test never logs in.
const passwordHash = "$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"

// Clone is what `harness clone --format json` prints (the fields this test reads).
type Clone struct {
	Name string `json:"DATABASE_NAME"`
	URL  string `json:"DATABASE_URL"`
}

// harness runs the CLI ($HARNESS, else `harness` on PATH) in the project's directory
// ($HARNESS_PROJECT_DIR, else the repository root): `harness up` is found by the project it serves.
func harness(t *testing.T, args ...string) []byte {
	t.Helper()
	command := os.Getenv("HARNESS")
	if command == "" {
		command = "harness"
	}
	project := os.Getenv("HARNESS_PROJECT_DIR")
	if project == "" {
		project = filepath.Join("..", "..")
	}
	cmd := exec.Command(command, args...)
	cmd.Dir = project
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// fresh returns a database of the test's own and an open connection to it; both go when it ends.
func fresh(t *testing.T) (Clone, *sql.DB) {
	t.Helper()
	var clone Clone
	if err := json.Unmarshal(harness(t, "clone", "--format", "json"), &clone); err != nil {
		t.Fatalf("harness clone --format json: %v", err)
	}
	db, err := sql.Open("postgres", plain(clone.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		harness(t, "drop", clone.Name)
	})
	return clone, db
}

// plain adds sslmode=disable unless the URL sets a mode: lib/pq requires TLS by default (libpq only
// prefers it), and the embedded and docker backends' servers listen on loopback without it.
func plain(url string) string {
	if strings.Contains(url, "sslmode=") {
		return url
	}
	if strings.Contains(url, "?") {
		return url + "&sslmode=disable"
	}
	return url + "?sslmode=disable"
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestACloneHoldsTheMigratedSchema(t *testing.T) {
	t.Parallel()
	_, db := fresh(t)
	if n := count(t, db, "SELECT count(*) FROM harness.schema_migrations"); n < 1 {
		t.Fatalf("no migration recorded in the clone")
	}
	if n := count(t, db, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('auth.users')"); n != 1 {
		t.Fatalf("auth.users (0002_auth) is missing from the clone")
	}
}

func TestARowWrittenInOneCloneIsNotSeenInAnother(t *testing.T) {
	t.Parallel()
	_, mine := fresh(t)
	_, other := fresh(t)
	const email = "gopher@example.com"
	_, err := mine.Exec(
		"INSERT INTO auth.users (email, username, password_hash) VALUES ($1, 'gopher', $2)", email, passwordHash)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, mine, "SELECT count(*) FROM auth.users WHERE email = $1", email); n != 1 {
		t.Fatalf("the clone written to holds %d rows, want 1", n)
	}
	if n := count(t, other, "SELECT count(*) FROM auth.users WHERE email = $1", email); n != 0 {
		t.Fatalf("another clone sees %d rows written elsewhere, want 0", n)
	}
}

func TestADroppedCloneIsGone(t *testing.T) {
	t.Parallel()
	var clone Clone
	if err := json.Unmarshal(harness(t, "clone", "--format", "json"), &clone); err != nil {
		t.Fatal(err)
	}
	harness(t, "drop", clone.Name)
	db, err := sql.Open("postgres", plain(clone.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pqErr *pq.Error
	if err := db.Ping(); !errors.As(err, &pqErr) || pqErr.Code != "3D000" {
		t.Fatalf("connecting to a dropped clone: %v, want invalid_catalog_name (3D000)", err)
	}
}
