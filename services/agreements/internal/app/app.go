package app

// Deps are the ports every use case draws from.
type Deps struct {
	Versions     VersionRepository
	Partners     PartnerRepository
	Acceptances  AcceptanceRepository
	Requirements RequirementRepository
	Clock        Clock
	IDs          IDs
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
	ApplyVerificationDecision ApplyVerificationDecision
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
		ApplyVerificationDecision: ApplyVerificationDecision{d: d},
		FireDueTimers:             FireDueTimers{d: d, fan: fan},
	}
}
