package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// maxInputBytes bounds an input file (the API takes far less).
const maxInputBytes = 1 << 20

func newRegistrationsCmd(g *globals) *cobra.Command {
	regs := group("registrations", "Submit company registrations (as an upstream system)", "", "registration", "reg")
	var file, key string
	submit := &cobra.Command{
		Use:   "submit -f FILE",
		Short: "Submit a registration from a JSON or YAML file",
		Long: `POST the registration in FILE to the registration service, as an upstream system
(role upstream_system), and print the new partner id, location id and enrollments.

FILE holds one object in the shape of POST /v1/registrations (see the README:
market, language, company, contact, programs, affirmations), as JSON or YAML —
chosen by the extension (.json, .yaml, .yml), else by the content. '-f -' reads
standard input. YAML is converted to JSON before sending; quote values that must
stay strings (registration numbers, postal codes with leading zeros).

Re-running is safe: the Idempotency-Key defaults to a hash of the request body,
so the same file answers with the same partner (marked "replayed") instead of a
duplicate-company refusal. Pass --idempotency-key to choose one yourself; the same
key with a different body is refused (idempotency.key_reused, exit 4).
Invalid input exits 4 with every field error listed.`,
		Example: `  partnerctl registrations submit -f company.yaml
  partnerctl registrations submit -f company.json -o json | jq -r .partner_id
  cat company.json | partnerctl registrations submit -f -
  partnerctl registrations submit -f company.yaml --idempotency-key portal-req-8812`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := readInputFile(file, g.stdin)
			if err != nil {
				return err
			}
			if key == "" {
				key = contentKey(body)
			}
			if len(key) > 255 {
				return usagef("--idempotency-key is longer than 255 characters")
			}
			tok, err := g.bearer(caller{role: auth.RoleUpstreamSystem, kind: auth.KindService})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			var view registrationView
			res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Registration + "/v1/registrations", token: tok,
				body: body, header: map[string]string{"Idempotency-Key": key}}, &view)
			if err != nil {
				return err
			}
			replayed := res.header.Get("Idempotent-Replayed") == "true"
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			if replayed {
				fmt.Fprintf(g.stderr, "replayed: this request was submitted before under Idempotency-Key %s; this is its original answer\n", key)
			}
			fmt.Fprintf(g.stdout, "partner   %s  %s  (%s, market %s)\n", view.PartnerID, view.LegalName, view.Status, view.Market)
			fmt.Fprintf(g.stdout, "location  %s\n\n", view.LocationID)
			rows := make([][]string, 0, len(view.Enrollments))
			for _, e := range view.Enrollments {
				rows = append(rows, []string{e.ID, e.Program, e.Status})
			}
			if err := table(g.stdout, []string{"ENROLLMENT", "PROGRAM", "STATUS"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "\nnext: the contact confirms the e-mail; follow it with 'partnerctl partners status %s' or 'partnerctl events tail --partner %s'\n",
				view.PartnerID, view.PartnerID)
			return nil
		},
	}
	submit.Flags().StringVarP(&file, "file", "f", "", "registration as JSON or YAML ('-' for standard input)")
	submit.Flags().StringVar(&key, "idempotency-key", "", "Idempotency-Key header (default: partnerctl- + hash of the body)")
	regs.AddCommand(submit)
	return regs
}

// registrationView is what POST /v1/registrations and GET
// /v1/registrations/{id} answer (registration's app.RegistrationView).
type registrationView struct {
	PartnerID  string `json:"partner_id"`
	Market     string `json:"market"`
	Status     string `json:"status"`
	LegalName  string `json:"legal_name"`
	LocationID string `json:"location_id"`
	Locations  []struct {
		ID      string `json:"id"`
		Country string `json:"country"`
		Status  string `json:"status"`
	} `json:"locations"`
	Enrollments []struct {
		ID              string `json:"id"`
		Program         string `json:"program"`
		Country         string `json:"country"`
		Status          string `json:"status"`
		LocationID      string `json:"location_id"`
		RejectionReason string `json:"rejection_reason"`
		StatusChangedAt string `json:"status_changed_at"`
		AgreementID     string `json:"agreement_id"`
	} `json:"enrollments"`
	RejectionReason string `json:"rejection_reason"`
	EmailOwnership  []struct {
		EnrollmentID string `json:"enrollment_id"`
		Address      string `json:"address"`
		ConfirmedAt  string `json:"confirmed_at"`
	} `json:"email_ownership"`
}

// readInputFile reads a JSON or YAML object from path, the -f flag ("-" =
// stdin; required), and returns it as JSON. JSON input is sent byte for byte
// as written.
func readInputFile(path string, stdin io.Reader) ([]byte, error) {
	if path == "" {
		return nil, usagef("-f FILE is required ('-f -' reads standard input)")
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxInputBytes+1))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usagef("read %s: %v", path, err)
	}
	if len(data) > maxInputBytes {
		return nil, usagef("%s is larger than %d bytes", path, maxInputBytes)
	}
	name := path
	if path == "-" {
		name = "standard input"
	}
	return toJSONObject(name, filepath.Ext(path), data)
}

// toJSONObject parses data as JSON or YAML (by ext, else by content) and
// returns one JSON object.
func toJSONObject(name, ext string, data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, usagef("%s is empty", name)
	}
	isJSON := strings.EqualFold(ext, ".json") || (!strings.EqualFold(ext, ".yaml") && !strings.EqualFold(ext, ".yml") &&
		(trimmed[0] == '{' || trimmed[0] == '['))
	if isJSON {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, usagef("%s is not a JSON object: %v", name, err)
		}
		return trimmed, nil
	}
	var v any
	dec := yaml.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&v); err != nil {
		return nil, usagef("%s is not valid YAML: %v", name, err)
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, usagef("%s holds more than one YAML document; submit one registration per file", name)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, usagef("%s must hold one object (a mapping), not %T", name, v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	return out, nil
}

// jsonable turns YAML-decoded values into JSON-encodable ones (mappings
// with non-string keys are refused, not guessed at).
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		return nil, fmt.Errorf("mapping keys must be strings")
	case []any:
		for i, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

// contentKey derives the default Idempotency-Key from the request body:
// the same file is the same request.
func contentKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "partnerctl-" + hex.EncodeToString(sum[:16])
}
