package domain

import (
	"maps"
	"slices"
	"testing"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

// TestPublishedCatalogMatches: the document types and reason codes the
// published language lists (what consumers that show them to people, the
// notifier's mails, name in their words) are exactly the catalog's. A new
// reason is published before a mail can name it.
func TestPublishedCatalogMatches(t *testing.T) {
	var docs, reasons []string
	for k := range maps.Keys(DocumentTypes) {
		docs = append(docs, string(k))
	}
	for k := range maps.Keys(Reasons) {
		reasons = append(reasons, string(k))
	}
	slices.Sort(docs)
	slices.Sort(reasons)
	pubDocs, pubReasons := slices.Sorted(slices.Values(verificationv1.DocumentTypes)), slices.Sorted(slices.Values(verificationv1.ReasonCodes))
	if !slices.Equal(docs, pubDocs) {
		t.Errorf("document types %v, published %v", docs, pubDocs)
	}
	if !slices.Equal(reasons, pubReasons) {
		t.Errorf("reason codes %v, published %v", reasons, pubReasons)
	}
}
