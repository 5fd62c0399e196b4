"""Insights (issue 13): the success indicators, the themes, and the product-ops report."""
