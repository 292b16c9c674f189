module github.com/partnerhub/onboarding/services/verification

go 1.26.0

require golang.org/x/text v0.43.0

replace github.com/partnerhub/onboarding/pkg => ../../pkg
