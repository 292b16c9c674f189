module github.com/partnerhub/onboarding/services/registration

go 1.26.0

require (
	github.com/nyaruka/phonenumbers v1.8.1
	github.com/partnerhub/onboarding/pkg v0.0.0
	golang.org/x/text v0.43.0
)

require google.golang.org/protobuf v1.36.12 // indirect

replace github.com/partnerhub/onboarding/pkg => ../../pkg
