"""Model trials (试用选型): an enterprise's own test set run on several models through the gateway,
checked, rated blind and reported (issue 19)."""
