module example.com/harness-go-example

go 1.19

require github.com/lib/pq v1.10.7

// Offline: Debian's golang-github-lib-pq-dev, not the module proxy (GOPROXY=off).
replace github.com/lib/pq => /usr/share/gocode/src/github.com/lib/pq
