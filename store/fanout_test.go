package store

import (
	"slices"
	"testing"

	"github.com/almaalouma/nashra"
)

// A packed list reads back as written, and bytes that are not one give an
// error, never a panic or a made-up chat.
func FuzzUnpackFollows(f *testing.F) {
	list := []nashra.FollowDelivery{{ChatID: -1001234567890, ThreadID: 9, Reason: "#النفط"}, {ChatID: -5, Reason: "الكهرباء"},
		{ChatID: 7, Reason: "الكهرباء"}, {ChatID: 1 << 52, ThreadID: 1 << 31, Reason: ""}}
	packed := packFollows(list)
	got, err := unpackFollows(packed)
	if err != nil || !slices.Equal(got, list) {
		f.Fatalf("unpacked %v %v, want %v", got, err, list)
	}
	f.Add(packed)
	f.Add(packed[:len(packed)-1])
	f.Add([]byte{5, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := unpackFollows(b)
		if err != nil {
			return
		}
		again, err := unpackFollows(packFollows(fs))
		if err != nil || !slices.Equal(again, fs) {
			t.Fatalf("%v packed and unpacked gives %v %v", fs, again, err)
		}
	})
}
