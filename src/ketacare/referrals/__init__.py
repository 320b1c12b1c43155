"""The front door: the public self-referral, opened by the C-SSRS screener and its crisis
routing (docs/decisions/0119)."""
