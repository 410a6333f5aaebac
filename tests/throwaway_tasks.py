from celery import shared_task


@shared_task
def rename_user(old, new):
    from django.contrib.auth.models import User
    return User.objects.filter(username=old).update(username=new)
