# As the reference's makemigrations wrote it (its field class path is one of ours too).

import alliance_platform.storage.async_uploads.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='Report',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file', alliance_platform.storage.async_uploads.models.AsyncFileField(blank=True, max_length=500, upload_to='reports/')),
            ],
        ),
    ]
