package aws

import "time"

// FakeAWSForTest exposes the in-memory STS/IAM to the external engine tests.
type FakeAWSForTest struct{ f *fakeAWS }

func NewFakeAWSForTest() *FakeAWSForTest { return &FakeAWSForTest{f: newFakeAWS()} }

func (x *FakeAWSForTest) AddRole(name string) string { return x.f.addRole(name) }
func (x *FakeAWSForTest) Factory() ClientFactory     { return x.f.factory(nil) }
func (x *FakeAWSForTest) RolePolicy(role, name string) (string, bool) {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	d, ok := x.f.roles[role].inline[name]
	return d, ok
}
func (x *FakeAWSForTest) LastSessionPolicy() string {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	if x.f.lastAssume == nil || x.f.lastAssume.Policy == nil {
		return ""
	}
	return *x.f.lastAssume.Policy
}
func (x *FakeAWSForTest) UserExists(name string) bool {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	_, ok := x.f.users[name]
	return ok
}

const RootKeyForTest, RootSecretForTest = rootKey, rootSecret

func FastKeyWait() Option { return WithKeyWait(time.Second, time.Second) }
