package domain

import (
	"embed"
	"time"
)

//go:embed seedtext/*.md
var seedTexts embed.FS

// SeedTextBaseURL is where development environments serve the seed texts.
const SeedTextBaseURL = "https://agreements.partnerhub.example/texts/"

// SeedVersions returns the development default versions, one per known
// program, each with the SHA-256 of its embedded placeholder text so that the
// hash is real evidence of what the text says.
func SeedVersions() []VersionDraft {
	effective := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seeds := []struct {
		id      string
		program Program
		name    string
	}{
		{"partner_network-2025-01", ProgramPartnerNetwork, "PartnerHub Partner Network Agreement"},
		{"indirect_reseller-2025-01", ProgramIndirectReseller, "PartnerHub Partner Agreement for Indirect Resellers"},
		{"indirect_provider-2025-01", ProgramIndirectProvider, "PartnerHub Indirect Provider Agreement"},
	}
	out := make([]VersionDraft, 0, len(seeds))
	for _, s := range seeds {
		text, err := SeedText(s.id)
		if err != nil {
			panic("agreements: missing embedded seed text " + s.id) // a build defect, caught by tests
		}
		out = append(out, VersionDraft{
			ID: s.id, Program: string(s.program), Name: s.name, Languages: []string{"en", "ja"},
			EffectiveFrom: effective, TextURL: SeedTextBaseURL + s.id + ".md",
			TextSHA256: string(HashText(text)), Policy: string(PolicyAutoEffective),
		})
	}
	return out
}

// SeedText returns the embedded text of seed version id.
func SeedText(id string) ([]byte, error) { return seedTexts.ReadFile("seedtext/" + id + ".md") }
