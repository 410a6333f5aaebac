from rest_framework.authtoken.models import Token


def renew_api_token(*, user) -> Token:
    """A fresh API token for the user; the old one stops working."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)
