"""The campaign controls the delivery of a step consults: holdout and variants, reachability, caps, quiet hours, tiers."""
