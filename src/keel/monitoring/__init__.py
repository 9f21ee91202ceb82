"""Monitoring: drift and data quality between a reference and a current window, realised
and estimated performance over time, monitors run on a schedule, and the alerts they raise.
"""
