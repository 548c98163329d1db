from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0002_report_started_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='report',
            name='enqueued_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='handed to the queue at'),
        ),
    ]
