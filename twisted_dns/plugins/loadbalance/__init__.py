"""*loadbalance*: shuffle (or weight, or prefer subnets for) the address records of replies."""
