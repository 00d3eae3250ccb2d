package line

// UserLockKey is the advisory lock key of a user's events, for tests that hold it.
var UserLockKey = userLockKey
