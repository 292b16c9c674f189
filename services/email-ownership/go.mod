module github.com/partnerhub/onboarding/services/emailownership

go 1.26.0

require github.com/partnerhub/onboarding/pkg v0.0.0

require golang.org/x/crypto v0.58.0 // indirect

replace github.com/partnerhub/onboarding/pkg => ../../pkg
