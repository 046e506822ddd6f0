"""sentimon: a review and social sentiment monitor for customer-experience teams."""

__version__ = "0.1.0"
