from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="corrections",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
