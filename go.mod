module github.com/rewindvm/rewind

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require github.com/klauspost/compress v1.20.4

require golang.org/x/arch v0.33.0
