// The Go programs of Rewind's Linux guest recipe (build.sh): the gowork
// workload and the disk-tree generator. A module of their own, so the
// main module's go test / vet never build them.
module github.com/rewindvm/rewind/guest/linux

go 1.22
