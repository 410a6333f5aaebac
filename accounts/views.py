from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from accounts.services import renew_api_token


@require_http_methods(["GET", "POST"])
def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("accounts:account")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def account(request):
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/account.html", {"token": token})


@login_required
@require_POST
def new_token(request):
    renew_api_token(user=request.user)
    return redirect("accounts:account")
