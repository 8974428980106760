/** @tally/kit: what the three Tally servers share. Internal; never published. */
export {}
