/** @tally/kit/testing: test support shared by every package's tests. */
export {}
