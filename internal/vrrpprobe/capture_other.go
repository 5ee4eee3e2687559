//go:build !linux

package vrrpprobe

import (
	"context"
	"errors"
	"time"
)

// Listen needs Linux packet sockets; elsewhere it says so.
func Listen(ctx context.Context, iface string, d time.Duration) ([]Advert, error) {
	return nil, errors.New("listen for vrrp: packet sockets need linux")
}
