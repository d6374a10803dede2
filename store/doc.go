// Package store is the engine's persistence: roles, credential records and their indexes,
// as typed helpers over logical.Storage. Paths and the backend share it so that neither
// imports the other; the domain packages stay free of storage concerns.
//
// Layout:
//
//	roles/<name>                      Role
//	credentials/<id>                  Record (no secret material)
//	active/<role>/<id>                ActiveEntry, for quotas; removed on revoke
//	expiry/<yyyymmddhh>/<id>          retention sweep buckets, keyed by expiry hour
//	keyids/<provider key id>          credential id, to resolve cloud evidence
//	findings/<yyyymmddhh>/<id>        FindingRecord, bucketed by the hour recorded
//	baselines/<role>                  the role's volume baseline (drift)
//	collect/<id>                      CollectTarget: a credential the collectors poll, with its checkpoint
//	ingest-nonces/<nonce>             collector submissions already accepted (replay protection)
//	keys/ingest                       the mount's key for signing its own collector submissions
//	posture/<hash of cloud ref>       current policy hash of a cloud role, as the collectors read it
package store
