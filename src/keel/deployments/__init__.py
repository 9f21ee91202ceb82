"""Deployments: named endpoints and their traffic policies (canary weights, shadows,
sticky A/B routing), changed atomically and audited; model servers follow them.
"""
