from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alliance_platform_storage', '0002_asynctempfile_upload_id'),
    ]

    operations = [
        migrations.AddField(
            model_name='asynctempfile',
            name='planned_for',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.AddField(
            model_name='asynctempfile',
            name='verified_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='asynctempfile',
            name='verified_version',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.AddField(
            model_name='asynctempfile',
            name='lease_token',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddField(
            model_name='asynctempfile',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='asynctempfile',
            name='contended',
            field=models.BooleanField(default=False),
        ),
    ]
