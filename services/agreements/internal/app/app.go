package app

import "github.com/partnerhub/onboarding/pkg/auth"

// Deps are the ports every use case draws from.
type Deps struct {
	Versions     VersionRepository
	Partners     PartnerRepository
	Acceptances  AcceptanceRepository
	Requirements RequirementRepository
	Keys         KeyReader
	Pending      PendingRepository
	Clock        Clock
	IDs          IDs
	// MFA is the multi-factor requirement on accepting (seed 003).
	MFA auth.MFAPolicy
}

// Application bundles the use cases for the adapters.
type Application struct {
	PublishVersion            PublishVersion
	RetireVersion             RetireVersion
	ListVersions              ListVersions
	SeedVersions              SeedVersions
	RecordNetworkAffirmation  RecordNetworkAffirmation
	Accept                    Accept
	ListSigned                ListSigned
	Status                    Status
	ApplyPartnerRegistered    ApplyPartnerRegistered
	ApplyEnrollmentAdded      ApplyEnrollmentAdded
	ApplyVerificationDecision ApplyVerificationDecision
	ApplyStandingChanged      ApplyStandingChanged
	CompletePending           CompletePending
	FireDueTimers             FireDueTimers
}

// New wires the use cases to d.
func New(d Deps) Application {
	fan := fanOut{d: d}
	network := RecordNetworkAffirmation{d: d}
	publish := PublishVersion{d: d, fan: fan}
	return Application{
		PublishVersion:            publish,
		RetireVersion:             RetireVersion{d: d},
		ListVersions:              ListVersions{d: d},
		SeedVersions:              SeedVersions{publish: publish},
		RecordNetworkAffirmation:  network,
		Accept:                    Accept{d: d},
		ListSigned:                ListSigned{d: d},
		Status:                    Status{d: d},
		ApplyPartnerRegistered:    ApplyPartnerRegistered{d: d, network: network},
		ApplyEnrollmentAdded:      ApplyEnrollmentAdded{d: d},
		ApplyVerificationDecision: ApplyVerificationDecision{d: d},
		ApplyStandingChanged:      ApplyStandingChanged{d: d},
		CompletePending:           CompletePending{d: d},
		FireDueTimers:             FireDueTimers{d: d, fan: fan},
	}
}
