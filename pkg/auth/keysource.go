package auth

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// keySource holds the current JWKS and reloads it on demand.
type keySource interface {
	Current(ctx context.Context) (jwk.Set, error)
	Refresh(ctx context.Context) (jwk.Set, error)
	Close(ctx context.Context) error
}

// fileKeys reads a JWKS document from disk; Refresh re-reads it, which is
// how a rotated development key (or a mounted secret) is picked up.
type fileKeys struct {
	path string
	mu   sync.RWMutex
	set  jwk.Set
}

func newFileKeys(path string) (*fileKeys, error) {
	f := &fileKeys{path: path}
	if _, err := f.Refresh(context.Background()); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *fileKeys) Current(context.Context) (jwk.Set, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.set, nil
}

func (f *fileKeys) Refresh(context.Context) (jwk.Set, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("read JWKS %s: %w", f.path, err)
	}
	set, err := parsePublicSet(data)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS %s: %w", f.path, err)
	}
	f.mu.Lock()
	f.set = set
	f.mu.Unlock()
	return set, nil
}

func (f *fileKeys) Close(context.Context) error { return nil }

// parsePublicSet parses a JWKS and refuses private or symmetric keys: a
// verifier must never hold signing material.
func parsePublicSet(data []byte) (jwk.Set, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, err
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
			return nil, fmt.Errorf("key %d is private or symmetric; a JWKS must hold public keys only", i)
		}
	}
	return set, nil
}

// urlKeys is jwx's cache of an HTTPS JWKS: background refresh driven by the
// response's Cache-Control (bounded by JWKSMaxInterval) plus Refresh on demand.
type urlKeys struct {
	url   string
	cache *jwk.Cache
}

func newURLKeys(ctx context.Context, cfg Config) (*urlKeys, error) {
	// The cache's goroutines live until Close, not until ctx ends.
	cache, err := jwk.NewCache(context.WithoutCancel(ctx), httprc.NewClient(httprc.WithHTTPClient(cfg.HTTPClient)))
	if err != nil {
		return nil, fmt.Errorf("start JWKS cache: %w", err)
	}
	regCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err = cache.Register(regCtx, cfg.JWKSURL,
		jwk.WithHTTPClient(cfg.HTTPClient),
		jwk.WithMinInterval(cfg.MinRefreshInterval),
		jwk.WithMaxInterval(cfg.JWKSMaxInterval))
	if err != nil {
		_ = cache.Shutdown(context.Background())
		return nil, fmt.Errorf("fetch JWKS %s: %w", cfg.JWKSURL, err)
	}
	return &urlKeys{url: cfg.JWKSURL, cache: cache}, nil
}

func (u *urlKeys) Current(ctx context.Context) (jwk.Set, error) { return u.cache.Lookup(ctx, u.url) }
func (u *urlKeys) Refresh(ctx context.Context) (jwk.Set, error) { return u.cache.Refresh(ctx, u.url) }
func (u *urlKeys) Close(ctx context.Context) error              { return u.cache.Shutdown(ctx) }
