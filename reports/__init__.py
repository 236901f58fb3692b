"""What leaders read: the figures of a week or a month, double-ten compliance, and the reports."""
