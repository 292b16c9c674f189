package bench

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// confirmLink does what the contact does with the mail's link: open it.
// Today the GET confirms. Should the page one day only show a button
// (GET shows, POST confirms, so that mail scanners following links confirm
// nothing), the page's POST form is submitted as a browser would. Success
// is not read from the page (its wording may change): the run waits for the
// ownership confirmation and approval events instead, and a link that
// confirmed nothing shows as a stall at stage "approved".
func (d *Driver) confirmLink(ctx context.Context, o *Onboarding, link string) error {
	page, err := d.get(ctx, link)
	if err != nil {
		return err
	}
	f, ok := postForm(page)
	if !ok {
		return nil
	}
	action, err := url.Parse(link)
	if err != nil {
		return err
	}
	if f.Action != "" {
		if action, err = action.Parse(f.Action); err != nil {
			return fmt.Errorf("form action %q: %w", f.Action, err)
		}
	}
	res, err := d.send(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", action.String(), strings.NewReader(f.Values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode >= 400 {
		return fmt.Errorf("POST %s: status %d", action, res.StatusCode)
	}
	return nil
}

func (d *Driver) get(ctx context.Context, u string) (string, error) {
	res, err := d.send(ctx, func() (*http.Request, error) { return http.NewRequestWithContext(ctx, "GET", u, nil) })
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", u, res.StatusCode)
	}
	return string(body), nil
}

// form is an HTML form to submit.
type form struct {
	Action string
	Values url.Values
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// postForm finds the first POST form of page that is not a dispute form
// and returns its action and the values a browser would send (named inputs
// with their values; the first named submit button).
func postForm(page string) (form, bool) {
	for _, m := range formRe.FindAllStringSubmatch(page, -1) {
		a := attrs(m[1])
		if !strings.EqualFold(a["method"], "post") || strings.Contains(strings.ToLower(a["action"]), "dispute") {
			continue
		}
		f := form{Action: a["action"], Values: url.Values{}}
		submitted := false
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			ia := attrs(in[1])
			name := ia["name"]
			if name == "" {
				continue
			}
			switch strings.ToLower(ia["type"]) {
			case "submit", "":
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(in[0])), "<button") || strings.EqualFold(ia["type"], "submit") {
					if submitted {
						continue
					}
					submitted = true
				}
			case "checkbox", "radio":
				if !strings.Contains(strings.ToLower(in[1]), "checked") {
					continue
				}
			}
			f.Values.Add(name, ia["value"])
		}
		return f, true
	}
	return form{}, false
}
