package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// addGrowCommands adds `partners add-program` and `partners add-location`:
// a registered partner enrolls in one more program or adds a business
// location (registration's POST /v1/partners/{id}/enrollments and /locations).
func addGrowCommands(partners *cobra.Command, g *globals) {
	var programFile, locationFile string
	program := &cobra.Command{
		Use:   "add-program PG-… -f FILE",
		Short: "Enroll a registered partner in one more program",
		Long: `POST the enrollment in FILE to registration's /v1/partners/{id}/enrollments, as an
operator (role operator), and print the new enrollment. FILE (JSON or YAML, '-' for
standard input) is {program, support, location_id, affirmations} — see the README,
"Adding programs and locations to a registered partner". The contact then gets a
new confirmation mail for the enrollment; follow it with 'partnerctl partners status'.
Already enrolled at that location, or a program the market does not offer, exits 4.`,
		Example: `  partnerctl partners add-program PG-PRTA-HD7W-NYE -f reseller.yaml`,
		Args:    exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Enrollment struct {
					ID         string `json:"id"`
					Program    string `json:"program"`
					Status     string `json:"status"`
					LocationID string `json:"location_id"`
				} `json:"enrollment"`
			}
			if printed, err := g.postToPartner(cmd, programFile, args[0], "enrollments", &out); printed || err != nil {
				return err
			}
			e := out.Enrollment
			if err := table(g.stdout, []string{"ENROLLMENT", "PROGRAM", "STATUS", "LOCATION"},
				[][]string{{e.ID, e.Program, e.Status, firstNonEmpty(e.LocationID, "(registered)")}}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "\nnext: the contact confirms the e-mail for this enrollment; 'partnerctl partners status %s'\n", args[0])
			return nil
		},
	}
	program.Flags().StringVarP(&programFile, "file", "f", "", "enrollment as JSON or YAML ('-' for standard input)")

	location := &cobra.Command{
		Use:   "add-location PG-… -f FILE",
		Short: "Add a business location (its own location ID) to a registered partner",
		Long: `POST the location in FILE to registration's /v1/partners/{id}/locations, as an
operator (role operator), and print the new location ID with its normalized
address. FILE (JSON or YAML, '-' for standard input) is {country, address: {line1,
line2, city, region, postal_code}}. A location in another market, an address the
partner already has or where another partner is registered exits 4.`,
		Example: `  partnerctl partners add-location PG-PRTA-HD7W-NYE -f osaka.yaml`,
		Args:    exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Location struct {
					ID      string `json:"id"`
					Status  string `json:"status"`
					Address struct {
						Normalized struct {
							Line1, Line2, City, Region string
							PostalCode                 string `json:"postal_code"`
						} `json:"normalized"`
					} `json:"address"`
				} `json:"location"`
			}
			if printed, err := g.postToPartner(cmd, locationFile, args[0], "locations", &out); printed || err != nil {
				return err
			}
			l, a := out.Location, out.Location.Address.Normalized
			fmt.Fprintf(g.stdout, "location  %s  (%s)\naddress   〒%s %s%s%s %s\n", l.ID, l.Status, a.PostalCode, a.Region, a.City, a.Line1, a.Line2)
			return nil
		},
	}
	location.Flags().StringVarP(&locationFile, "file", "f", "", "location as JSON or YAML ('-' for standard input)")
	partners.AddCommand(program, location)
}

// postToPartner POSTs the object in file (the -f flag: JSON or YAML, "-" for
// standard input) to registration's /v1/partners/{id}/{collection} as an
// operator and decodes the answer into out. With -o json it prints the answer
// as it came and reports printed: the caller prints its own view only when not.
func (g *globals) postToPartner(cmd *cobra.Command, file, partnerID, collection string, out any) (printed bool, err error) {
	body, err := readInputFile(file, g.stdin)
	if err != nil {
		return false, err
	}
	tok, err := g.bearer(caller{role: auth.RoleOperator})
	if err != nil {
		return false, err
	}
	ctx, cancel := g.withTimeout(cmd.Context())
	defer cancel()
	res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Registration + "/v1/partners/" + partnerID + "/" + collection,
		token: tok, body: body}, out)
	if err != nil {
		return false, err
	}
	if g.json() {
		writeRaw(g.stdout, res.body)
		return true, nil
	}
	return false, nil
}
