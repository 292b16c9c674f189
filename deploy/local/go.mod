module github.com/partnerhub/onboarding/deploy/local

go 1.26.0

require github.com/partnerhub/onboarding/pkg v0.0.0

replace github.com/partnerhub/onboarding/pkg => ../../pkg
