from django.db import migrations, models

from alliance_platform.storage.reference_upgrade import OnOurTable


class Migration(migrations.Migration):

    dependencies = [
        ('alliance_platform_storage', '0002_asynctempfile_upload_id'),
    ]

    # On a database migrated by alliance-platform-storage 0.0.5 our table does not exist yet: 0004 creates it.
    operations = [
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='planned_for',
            field=models.CharField(blank=True, default='', max_length=255),
        )),
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='verified_at',
            field=models.DateTimeField(blank=True, null=True),
        )),
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='verified_version',
            field=models.CharField(blank=True, default='', max_length=255),
        )),
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='lease_token',
            field=models.CharField(blank=True, default='', max_length=32),
        )),
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        )),
        OnOurTable(migrations.AddField(
            model_name='asynctempfile',
            name='contended',
            field=models.BooleanField(default=False),
        )),
    ]
