from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the S3 bucket for uploads if it does not exist (STORAGE_BACKEND=s3 only)."

    def handle(self, *args, **options):
        if settings.STORAGE_BACKEND != "s3":
            self.stdout.write("local storage: no bucket needed")
            return
        bucket = default_storage.bucket
        try:
            default_storage.connection.meta.client.head_bucket(Bucket=bucket.name)
            self.stdout.write(f"bucket {bucket.name} exists")
        except ClientError:
            bucket.create()
            self.stdout.write(f"bucket {bucket.name} created")
